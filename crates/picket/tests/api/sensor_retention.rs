//! Retention (§10.4): old rows of every dataset go, per `[retention]` days, in batches of
//! 10,000 per transaction; captures go by their own age; the DNS and TCP aggregates match the
//! rows left; `0` keeps a dataset; About counts what is left; the periodic job does it.

use picket_core::config::RetentionConfig;
use picket_core::identity::TenantId;
use picket_core::jobs;
use picket_core::time::now_ms;
use picket_netmon::alerts::{
    insert_network_alert, insert_server_alert, NewNetworkAlert, NewServerAlert,
};
use picket_netmon::data::aggregates;
use picket_sensor::retention::{self, prune};
use sea_query::Value as V;

use crate::helpers::{json, spawn, TestApp};
use crate::netmon_data::{aggregates_match_raw, count, dns, insert, tcp, tenant, DNS, TCP};
use crate::netmon_devices::utc;

const DAY: i64 = 86_400_000;
const MIN: i64 = 60_000;

pub(crate) fn network_alert(ts: i64) -> NewNetworkAlert {
    NewNetworkAlert {
        ts,
        agent: "9c41e0d27ab35f18".into(),
        agent_name: "sensor".into(),
        src_mac: String::new(),
        dst_mac: String::new(),
        src_ip: "192.168.56.20".into(),
        dst_ip: "10.0.0.5".into(),
        src_port: 0,
        dst_port: 0,
        level: 30,
        kind: "portscan".into(),
        subject: "Port scan from 192.168.56.20".into(),
        message: String::new(),
        flow_id: None,
    }
}

fn server_alert(ts: i64) -> NewServerAlert {
    NewServerAlert {
        ts,
        agent: "9c41e0d27ab35f18".into(),
        agent_name: "sensor".into(),
        hostname: "web1".into(),
        level: 10,
        kind: "sshd_failed_password".into(),
        title: "SSH failed password for root from 198.51.100.23".into(),
        line: "sshd[1]: Failed password for root from 198.51.100.23 port 22 ssh2".into(),
    }
}

/// An alert at `ts` with a capture stored at `stored`; returns the alert's id.
pub(crate) async fn alert_with_capture(
    app: &TestApp,
    t: TenantId,
    ts: i64,
    stored: Option<i64>,
) -> i64 {
    let mut tx = app.state.db.begin().await.unwrap();
    let id = insert_network_alert(&mut tx, t, &network_alert(ts))
        .await
        .unwrap();
    if let Some(at) = stored {
        picket_core::db::bulk::insert_rows(
            &mut tx,
            "network_pcaps",
            &["tenant_id", "alert_id", "data", "created_at"],
            vec![vec![
                t.0.into(),
                id.into(),
                V::from(vec![0xd4u8, 0xc3, 0xb2, 0xa1]),
                at.into(),
            ]],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

pub(crate) async fn rows(app: &TestApp, table: &str, t: TenantId) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = $1"),
        t,
    )
    .await
}

async fn oldest(app: &TestApp, table: &str, t: TenantId) -> i64 {
    count(
        app,
        &format!("SELECT MIN(ts) AS n FROM {table} WHERE tenant_id = $1"),
        t,
    )
    .await
}

async fn rebuild_aggregates(app: &TestApp, t: TenantId, from: i64, to: i64) {
    let mut tx = app.state.db.begin().await.unwrap();
    for agg in aggregates::ALL {
        aggregates::rebuild(&mut tx, agg, t, from, to)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn old_rows_go_in_batches_and_the_aggregates_follow() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let other = tenant(&app, "other").await;
    let now = utc("2026-06-30 12:07:00");
    let cutoff = now - 30 * DAY;
    // 24,000 DNS rows over the two days before the cutoff (more than two batches), and rows
    // every 7 minutes from 3 hours before the cutoff to 3 hours after it, so one 15-minute
    // bucket holds rows on both sides.
    let mut d: Vec<Vec<V>> = (0..24_000)
        .map(|i| {
            dns(
                t,
                cutoff - 2 * DAY + i * 7_000,
                "a1",
                "10.0.0.5",
                "A",
                "old.example.com",
            )
        })
        .collect();
    let mut c = Vec::new();
    for i in -26..26 {
        let ts = cutoff + i * 7 * MIN;
        d.push(dns(t, ts, "a1", "10.0.0.6", "A", "www.example.com"));
        c.push(tcp(t, ts, "10.0.0.6", "93.184.216.34", 443, 100 + i));
    }
    d.push(dns(
        other,
        cutoff - DAY,
        "a1",
        "10.0.0.9",
        "A",
        "other.example.com",
    ));
    insert(&app, "dns_records", DNS, d).await;
    insert(&app, "tcp_records", TCP, c).await;
    for tenant in [t, other] {
        rebuild_aggregates(&app, tenant, cutoff - 3 * DAY, cutoff + DAY).await;
    }
    let dhcp = |tenant: TenantId, ts: i64| {
        vec![
            V::from(tenant.0),
            ts.into(),
            "a1".into(),
            "08:00:27:AA:BB:CC".into(),
            "10.0.0.6".into(),
            "laptop".into(),
        ]
    };
    insert(
        &app,
        "dhcp_records",
        &["tenant_id", "ts", "agent", "mac", "ip", "hostname"],
        vec![dhcp(t, cutoff - 1), dhcp(t, cutoff + 1)],
    )
    .await;
    let http = |tenant: TenantId, ts: i64| {
        vec![
            V::from(tenant.0),
            ts.into(),
            "a1".into(),
            "10.0.0.6".into(),
            "93.184.216.34".into(),
            "example.com".into(),
            "/".into(),
        ]
    };
    insert(
        &app,
        "http_records",
        &[
            "tenant_id",
            "ts",
            "agent",
            "src_ip",
            "dst_ip",
            "host",
            "uri",
        ],
        vec![http(t, cutoff - DAY), http(t, now)],
    )
    .await;

    // Alerts are kept a year, captures 30 days by when they were stored.
    let year = now - 365 * DAY;
    let old_alert = alert_with_capture(&app, t, year - DAY, Some(year - DAY)).await;
    let kept_alert_old_capture =
        alert_with_capture(&app, t, now - 10 * DAY, Some(now - 40 * DAY)).await;
    let kept_both = alert_with_capture(&app, t, now - 10 * DAY, Some(now - DAY)).await;
    {
        let mut tx = app.state.db.begin().await.unwrap();
        for ts in [year - 1, year + 1, now] {
            insert_server_alert(&mut tx, t, &server_alert(ts))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }

    let pruned = prune(&app.state.db, &RetentionConfig::default(), now)
        .await
        .unwrap();
    assert_eq!(
        pruned.of("dns_metadata"),
        24_000 + 26 + 1,
        "the other tenant's old row too"
    );
    assert_eq!(pruned.of("tcp_metadata"), 26);
    assert_eq!(pruned.of("dhcp_metadata"), 1);
    assert_eq!(pruned.of("http_metadata"), 1);
    assert_eq!(pruned.of("network_alerts"), 1);
    assert_eq!(pruned.of("syslog_alerts"), 1);
    assert_eq!(pruned.of("captures"), 1, "the kept alert's old capture");

    assert_eq!(rows(&app, "dns_records", t).await, 26);
    assert!(oldest(&app, "dns_records", t).await >= cutoff);
    assert_eq!(rows(&app, "tcp_records", t).await, 26);
    assert_eq!(rows(&app, "dns_records", other).await, 0);
    aggregates_match_raw(&app, t).await;
    aggregates_match_raw(&app, other).await;
    assert_eq!(rows(&app, "dhcp_records", t).await, 1);
    assert_eq!(rows(&app, "http_records", t).await, 1);
    assert_eq!(rows(&app, "server_alerts", t).await, 2);
    let alerts = json(
        app.get("/api/v1/networkalerts?sort=id&order=asc").await,
        200,
    )
    .await;
    let listed: Vec<(i64, bool)> = alerts["network_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_i64().unwrap(), a["pcap_id"].is_null()))
        .collect();
    assert_eq!(listed, [(kept_alert_old_capture, true), (kept_both, false)]);
    assert!(old_alert < kept_alert_old_capture);
    assert_eq!(rows(&app, "network_pcaps", t).await, 1);

    // About counts what is left.
    let about = json(app.get("/api/v1/about").await, 200).await;
    let d = &about["database"]["dns_records"];
    assert_eq!(d["row_count"], 26);
    assert_eq!(
        d["first_record_at"], "2026-05-31 12:07:00",
        "the cutoff itself is kept"
    );

    // The emptied days' count rows went with their rows; the totals still add up.
    let zero = count(
        &app,
        "SELECT COUNT(*) AS n FROM row_counts WHERE tenant_id = $1 AND n = 0",
        t,
    )
    .await;
    assert_eq!(zero, 0, "no count row is left at zero");
    let zero = count(
        &app,
        "SELECT COUNT(*) AS n FROM row_counts_hourly WHERE tenant_id = $1 AND n = 0",
        t,
    )
    .await;
    assert_eq!(zero, 0, "no hourly count row is left at zero");
    for sql in [
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM row_counts WHERE tenant_id = $1 AND dataset = 'dns_records'",
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM row_counts_hourly WHERE tenant_id = $1 AND dataset = 'dns_records'",
    ] {
        assert_eq!(count(&app, sql, t).await, 26, "{sql}");
    }

    // Nothing more to do: a second run deletes nothing.
    let again = prune(&app.state.db, &RetentionConfig::default(), now)
        .await
        .unwrap();
    assert!(again.deleted.iter().all(|(_, n)| *n == 0), "{again:?}");
}

#[tokio::test]
async fn zero_days_keeps_a_dataset_forever() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let now = utc("2026-06-30 12:00:00");
    insert(
        &app,
        "dns_records",
        DNS,
        vec![dns(
            t,
            now - 1000 * DAY,
            "a1",
            "10.0.0.5",
            "A",
            "a.example.com",
        )],
    )
    .await;
    {
        let mut tx = app.state.db.begin().await.unwrap();
        insert_server_alert(&mut tx, t, &server_alert(now - 1000 * DAY))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let keep_metadata = RetentionConfig {
        metadata_days: 0,
        ..RetentionConfig::default()
    };
    let pruned = prune(&app.state.db, &keep_metadata, now).await.unwrap();
    assert_eq!(pruned.of("dns_metadata"), 0);
    assert_eq!(pruned.of("syslog_alerts"), 1);
    assert_eq!(rows(&app, "dns_records", t).await, 1);
    let none = RetentionConfig {
        metadata_days: 0,
        alerts_days: 0,
        captures_days: 0,
    };
    assert!(prune(&app.state.db, &none, now)
        .await
        .unwrap()
        .deleted
        .is_empty());
}

#[tokio::test]
async fn the_periodic_job_prunes_by_the_clock() {
    let app = spawn().await;
    let t = tenant(&app, "default").await;
    let now = now_ms();
    let mut tx = app.state.db.begin().await.unwrap();
    for ts in [now - 400 * DAY, now - DAY] {
        insert_server_alert(&mut tx, t, &server_alert(ts))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    jobs::enqueue(&app.state.db, &retention::prune_job())
        .await
        .unwrap();
    assert_eq!(jobs::run_pending_jobs(&app.state).await.unwrap(), 1);
    let s = json(app.get("/api/v1/serveralerts").await, 200).await;
    assert_eq!(s["total_rows"], 1);
}
