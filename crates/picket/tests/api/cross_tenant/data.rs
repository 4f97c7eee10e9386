//! `/api/v1/data`: alpha's export holds alpha's rows only; alpha's deletes, unbounded ones
//! included, take alpha's rows, captures and aggregate buckets and leave bravo's.

use picket_core::db::placeholder;
use picket_core::identity::TenantId;
use reqwest::Method;
use sea_query::Values;
use serde_json::json;

use super::network_rows::seed;
use super::{call, get, post, Case, Pair, Surface};

const DATASETS: [&str; 6] = [
    "network_alerts",
    "syslog_alerts",
    "dns_metadata",
    "tcp_metadata",
    "dhcp_metadata",
    "http_metadata",
];

fn export() -> super::Call {
    post("/api/v1/data/export", json!({ "datasets": DATASETS }))
}

/// What `tenant` has in the DNS and TCP aggregates, row by row; the API shows them nowhere.
async fn aggregates(p: &Pair, tenant: TenantId) -> Vec<String> {
    #[derive(sqlx::FromRow)]
    struct Bucket {
        bucket: i64,
        src_ip: String,
        count: i64,
    }
    let p1 = placeholder(p.app.state.db.backend(), 1);
    let mut out = Vec::new();
    for table in ["dns_aggregates", "tcp_aggregates"] {
        let sql = format!(
            "SELECT bucket, src_ip, count FROM {table} WHERE tenant_id = {p1} \
             ORDER BY bucket, src_ip"
        );
        let rows: Vec<Bucket> = p
            .app
            .state
            .db
            .fetch_all_sql(&sql, Values(vec![tenant.0.into()]))
            .await
            .unwrap();
        out.extend(
            rows.iter()
                .map(|r| format!("{table} {} {} {}", r.bucket, r.src_ip, r.count)),
        );
    }
    out
}

#[tokio::test]
async fn export_and_delete() {
    let p = Pair::new().await;
    let w = seed(&p).await;
    let bravo_aggregates = aggregates(&p, p.bravo.tenant).await;
    assert_eq!(bravo_aggregates.len(), 2, "{bravo_aggregates:?}");

    // Every dataset: alpha's one row, by content; one unbounded delete each, one row each.
    let bravos = json!({"dns_metadata": {"query": "bravo.example.com"}});
    let mut writes = vec![post(
        "/api/v1/data/delete",
        json!({"table": "dns_metadata", "filters": bravos}),
    )
    .shows(&["\"deleted_rows\":0"])];
    for (i, set) in DATASETS.into_iter().enumerate() {
        let method = if i % 2 == 0 {
            Method::POST
        } else {
            Method::DELETE
        };
        let path = if i % 2 == 0 {
            "/api/v1/data/delete"
        } else {
            "/api/v1/data"
        };
        writes.push(
            call(method, path)
                .body(json!({"table": set, "all": true}))
                .shows(&["\"deleted_rows\":1"]),
        );
    }
    Case {
        surface: Surface::Network,
        reads: vec![
            export().shows(&[
                "alpha.example.com",
                "Alpha port scan",
                "Alpha failed password",
                "AA:AA:AA:00:00:01,10.1.0.10,alpha-ws",
                "curl/8.5.0",
            ]),
            post(
                "/api/v1/data/export",
                json!({"datasets": ["dns_metadata"],
                "filters": {"dns_metadata": {"query": "%.example.com"}}}),
            )
            .shows(&["alpha.example.com"]),
            post(
                "/api/v1/data/export",
                json!({"datasets": ["network_alerts"],
                "filters": {"network_alerts": {"source": "10.2.0.10"}}}),
            ),
        ],
        foreign: Vec::new(),
        writes,
        bravo_reads: vec![
            export().shows(&[
                "bravo.example.com",
                "Bravo port scan",
                "Bravo failed password",
                "BB:BB:BB:00:00:01,10.2.0.10,bravo-ws",
            ]),
            get("/api/v1/networkalerts").shows(&["Bravo port scan"]),
            get(format!("/api/v1/networkalerts/{}/pcap", w.bravo.alert)),
        ],
    }
    .check(&p)
    .await;
    assert_eq!(aggregates(&p, p.bravo.tenant).await, bravo_aggregates);
    assert!(aggregates(&p, p.alpha.tenant).await.is_empty());
    let emptied = p.read_as(&p.alpha, &export()).await;
    assert!(
        !emptied.contains("alpha"),
        "alpha's rows are gone: {emptied}"
    );
}
