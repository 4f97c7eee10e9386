//! `GET /api/v1/about`: the documented shape with real figures.

use picket_core::identity::store;
use sea_query::Values;

use crate::helpers::{json, spawn_with, TestApp};

async fn insert_dns(app: &TestApp, tenant: i64, ts_ms: i64) {
    let p = |n| picket_core::db::placeholder(app.state.db.backend(), n);
    let sql = format!(
        "INSERT INTO dns_records (tenant_id, ts, agent, src_ip, dst_ip, qtype, query) VALUES ({}, {}, 'a1', '10.0.0.5', '10.0.0.1', 'A', 'example.com')",
        p(1),
        p(2)
    );
    app.state
        .db
        .execute_sql(&sql, Values(vec![tenant.into(), ts_ms.into()]))
        .await
        .unwrap();
}

#[tokio::test]
async fn about_has_the_documented_shape_and_real_figures() {
    let app = spawn_with(|c| c.timezone = "Europe/Berlin".into(), None).await;
    let default = crate::helpers::tenant(&app.state.db, "default").await;
    let other = store::create_tenant(&app.state.db, "other").await.unwrap();
    // 2026-06-01 08:00:00 UTC = 10:00:00 in Berlin (summer time), and two later rows.
    let t0 = 1_780_300_800_000;
    insert_dns(&app, default.id.0, t0).await;
    insert_dns(&app, default.id.0, t0 + 3_600_000).await;
    insert_dns(&app, other.id.0, t0 - 86_400_000).await;

    let a = json(app.get("/api/v1/about").await, 200).await;
    assert_eq!(a["version"], env!("CARGO_PKG_VERSION"));
    let rss = a["runtime_memory_bytes"].as_u64().unwrap();
    assert!(rss > 1_000_000, "resident memory is real: {rss}");
    let d = &a["database"];
    assert!(d["size_bytes"].as_i64().unwrap() > 0);
    assert_eq!(
        d["network_alerts"],
        serde_json::json!({"row_count": 0, "row_count_is_estimate": true})
    );
    let dns = &d["dns_records"];
    // The caller's rows only: the other tenant's row is not counted.
    assert_eq!(dns["row_count"], 2, "{dns}");
    assert_eq!(dns["row_count_is_estimate"], true);
    assert!(dns["size_bytes"].as_i64().unwrap() > 0);
    // First and last times are the caller's tenant's, in the server timezone.
    assert_eq!(dns["first_record_at"], "2026-06-01 10:00:00");
    assert_eq!(dns["last_record_at"], "2026-06-01 11:00:00");
    for k in ["tcp_records", "dhcp_records", "http_records"] {
        let t = &d[k];
        assert_eq!(t["row_count"], 0, "{k}");
        assert_eq!(t["first_record_at"], serde_json::Value::Null, "{k}");
        assert_eq!(t.as_object().unwrap().len(), 5, "{k}: {t}");
    }
    assert_eq!(
        d["tor_relays"],
        serde_json::json!({"last_updated_at": null, "size_bytes": 0})
    );
    assert_eq!(
        d["misp_ip_records"]["last_updated_at"],
        serde_json::Value::Null
    );
    assert_eq!(
        d["misp_dns_records"]["last_updated_at"],
        serde_json::Value::Null
    );
    assert_eq!(a["schema_health"]["is_healthy"], true);
    let names: Vec<&str> = a["schema_health"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"users") && names.contains(&"dns_records"),
        "{names:?}"
    );
    assert_eq!(a.as_object().unwrap().len(), 4);

    // The other tenant sees its one row, its own times and its own share of the table; the
    // database size is the same whole-database figure for both.
    let other_key = app.tenant_key("other", None).await;
    let b = json(
        app.req_as(&other_key, reqwest::Method::GET, "/api/v1/about")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let their = &b["database"]["dns_records"];
    assert_eq!(their["row_count"], 1, "{their}");
    assert_eq!(their["first_record_at"], "2026-05-31 10:00:00");
    let (mine, theirs) = (
        dns["size_bytes"].as_i64().unwrap(),
        their["size_bytes"].as_i64().unwrap(),
    );
    assert!(
        theirs > 0 && theirs < mine,
        "a third of the table is theirs: {theirs} < {mine}"
    );
    assert_eq!(b["database"]["size_bytes"], a["database"]["size_bytes"]);
}
