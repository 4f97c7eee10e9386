//! `/v1`: notification settings and webhooks. Each tenant has its targets and a webhook whose
//! URL names it; alpha's reads, writes and test pings never reach bravo's.

use reqwest::Method;
use serde_json::json;

use super::{call, get, post, Case, Pair, Side, Surface};
use crate::helpers::json;

async fn seed(p: &Pair, side: &Side, name: &str) -> String {
    let settings = json!({
        "slack_webhook_url": format!("https://hooks.slack.com/services/{name}"),
        "email_recipients": [format!("{name}@example.org")],
    });
    let res = p
        .send(
            &side.key,
            &call(Method::PUT, "/v1/settings/notifications").body(settings),
        )
        .await;
    json(res, 200).await;
    let hook = json!({"url": format!("https://{name}.example.org/hook"),
        "secret": format!("{name}-secret-0123456789")});
    let res = p.send(&side.key, &post("/v1/webhooks", hook)).await;
    json(res, 201).await["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn webhooks_and_notification_settings() {
    let p = Pair::new().await;
    let alpha = seed(&p, &p.alpha, "alpha").await;
    let bravo = seed(&p, &p.bravo, "bravo").await;
    let theirs = format!("/v1/webhooks/{bravo}");
    let mine = format!("/v1/webhooks/{alpha}");
    Case {
        surface: Surface::Events,
        reads: vec![
            get("/v1/webhooks").shows(&["alpha.example.org", "\"total\":1"]),
            get(&mine).shows(&["alpha.example.org"]),
            get(format!("{mine}/deliveries")).shows(&["\"total\":0"]),
            get("/v1/settings/notifications").shows(&["alpha@example.org"]),
        ],
        foreign: vec![
            get(&theirs),
            call(Method::PATCH, &theirs).body(json!({"enabled": false})),
            call(Method::DELETE, &theirs),
            call(Method::POST, format!("{theirs}/test")),
            get(format!("{theirs}/deliveries")),
        ],
        writes: vec![
            call(Method::PATCH, &mine)
                .body(json!({"url": "https://alpha-new.example.org/hook"}))
                .shows(&["alpha-new.example.org"]),
            call(Method::PUT, "/v1/settings/notifications")
                .body(json!({"email_recipients": ["alpha-ops@example.org"]}))
                .shows(&["alpha-ops@example.org"]),
            post(
                "/v1/webhooks",
                json!({"url": "https://alpha-two.example.org/hook", "secret": "alpha-secret-two-2222"}),
            )
            .answers(201),
            call(Method::DELETE, &mine).answers(204),
        ],
        bravo_reads: vec![
            get("/v1/webhooks").shows(&["bravo.example.org", "\"total\":1"]),
            get(&theirs).shows(&["bravo.example.org", "\"enabled\":true"]),
            get("/v1/settings/notifications").shows(&["bravo@example.org"]),
        ],
    }
    .check(&p)
    .await;
}
