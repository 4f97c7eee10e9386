//! The network surface at volume: `picket_netmon::generate` fills one tenant (1,000,000 network
//! alerts, 1,000,000 server alerts, 5,000,000 DNS and 5,000,000 TCP rows at scale 1), then 16
//! clients read the documented lists and searches, one client exports a DNS dataset of a fifth
//! of the rows, and a filtered TCP delete with its aggregate rebuild is timed.
//!
//! Endpoints another part of the code base has not built yet answer 404/405; the scenario
//! still sends them exactly per the contract and reports "endpoint missing" for them.

use std::sync::Arc;
use std::time::Instant;

use picket_core::identity::store as identity;
use picket_netmon::generate::{generate, Volume};
use reqwest::Method;
use sea_query::Values;
use serde_json::{json, Value};

use crate::load::{drive, HEADER};
use crate::{peak_rss_mb, Server};

const DAY_MS: i64 = 86_400_000;
const DAYS: u32 = 30;

#[derive(sqlx::FromRow)]
struct Span {
    first: Option<i64>,
    last: Option<i64>,
    n: i64,
}

/// First and last `ts` and the row count of `table` in the tenant.
async fn span(
    server: &Server,
    table: &str,
    tenant: i64,
    extra: &str,
) -> anyhow::Result<(i64, i64, i64)> {
    let db = &server.state.db;
    let p = picket_core::db::placeholder(db.backend(), 1);
    let s: Span = db
        .fetch_optional_sql(
            &format!("SELECT MIN(ts) AS first, MAX(ts) AS last, COUNT(*) AS n FROM {table} WHERE tenant_id = {p}{extra}"),
            Values(vec![tenant.into()]),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("no span"))?;
    Ok((s.first.unwrap_or(0), s.last.unwrap_or(0), s.n))
}

/// Server-local text of Unix ms (the server runs in UTC here).
fn text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Resets the kernel's peak-RSS mark of this process, so the next reading covers one phase;
/// returns the resident memory at that moment, MB.
fn reset_peak_rss() -> f64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    memory_stats::memory_stats().map_or(0.0, |m| m.physical_mem as f64 / 1_048_576.0)
}

pub async fn run(
    server: &Server,
    scale: f64,
    alerts: Option<u64>,
    clients: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let db = &server.state.db;
    let tenant = identity::tenant_by_name(db, "default")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the default tenant exists"))?;
    let n = |full: f64| (full * scale).round() as u64;
    let volume = Volume {
        network_alerts: alerts.unwrap_or(n(1e6)),
        server_alerts: n(1e6),
        dns: n(5e6),
        tcp: n(5e6),
        days: DAYS,
        seed: 42,
        ..Volume::default()
    };
    let t = Instant::now();
    let report = generate(db, tenant.id, &volume, |_, _| {}).await?;
    let total: u64 = report.rows.iter().map(|r| r.1).sum();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "\ngenerate (scale {scale}): {total} rows and the DNS/TCP aggregates in {secs:.1} s ({:.0} rows/s)",
        total as f64 / secs
    );

    let client = reqwest::Client::new();
    let base = Arc::new(server.base.clone());
    let key = Arc::new(server.key.clone());
    let (first, last, _) = span(server, "network_alerts", tenant.id.0, "").await?;
    let week_ago = text(last - 7 * DAY_MS);
    let search_to = text(last - 4 * DAY_MS);
    let reads: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "GET /api/v1/devices?page=1",
            Method::GET,
            "/api/v1/devices?page=1".into(),
            None,
        ),
        (
            "GET /api/v1/networkalerts?sort=timestamp&order=desc",
            Method::GET,
            "/api/v1/networkalerts?sort=timestamp&order=desc".into(),
            None,
        ),
        (
            "GET /api/v1/networkalerts?sort=timestamp&order=desc&page=1000",
            Method::GET,
            "/api/v1/networkalerts?sort=timestamp&order=desc&page=1000".into(),
            None,
        ),
        (
            "POST /api/v1/networkalerts/search (level, type, from/to)",
            Method::POST,
            "/api/v1/networkalerts/search".into(),
            Some(
                json!({"filters": {"level": [20, 30], "type": ["ids", "portscan"], "from": week_ago, "to": search_to},
                        "sort": {"field": "timestamp", "order": "desc"}}),
            ),
        ),
        (
            "GET /api/v1/serveralerts?sort=timestamp&order=desc",
            Method::GET,
            "/api/v1/serveralerts?sort=timestamp&order=desc".into(),
            None,
        ),
        (
            "POST /api/v1/networkalerts/search (level, source, from/to)",
            Method::POST,
            "/api/v1/networkalerts/search".into(),
            Some(
                json!({"filters": {"level": [30], "source": ["10.10.0.%"], "from": week_ago, "to": search_to},
                        "sort": {"field": "timestamp", "order": "desc"}}),
            ),
        ),
        (
            "POST /api/v1/serveralerts/search (search text)",
            Method::POST,
            "/api/v1/serveralerts/search".into(),
            Some(json!({"filters": {"search": ["Failed password for root"]}})),
        ),
        (
            // A selective needle: one attacker's lines, about 0.3% of the server alerts.
            "POST /api/v1/serveralerts/search (search text, one attacker)",
            Method::POST,
            "/api/v1/serveralerts/search".into(),
            Some(json!({"filters": {"search": ["from 203.0.113.42 port"]}})),
        ),
        (
            "GET /api/v1/services",
            Method::GET,
            "/api/v1/services".into(),
            None,
        ),
        (
            "GET /api/v1/about",
            Method::GET,
            "/api/v1/about".into(),
            None,
        ),
    ];
    // Planner statistics, as the server's hourly `db.statistics` job keeps them.
    picket_core::db::stats::refresh_planner_statistics(&server.state.db).await?;
    println!("\n{HEADER}");
    for (name, method, path, body) in reads {
        let probe = send(&client, &base, &key, method.clone(), &path, body.as_ref()).await?;
        if probe == 404 || probe == 405 {
            println!("| {name} | endpoint missing ({probe}) | | | | | |");
            continue;
        }
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        let body = Arc::new(body);
        let path = Arc::new(path);
        let s = drive(name, clients, requests, move |_| {
            let mut req = client
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(key.as_str());
            if let Some(b) = body.as_ref() {
                req = req.json(b);
            }
            async move {
                match req.send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        })
        .await;
        println!("{}", s.row());
    }
    let _ = first;

    // Export: the newest fifth of the DNS rows.
    let (dns_first, dns_last, _) = span(server, "dns_records", tenant.id.0, "").await?;
    let from_ms = dns_last - (dns_last - dns_first) / 5;
    let (_, _, rows) = span(
        server,
        "dns_records",
        tenant.id.0,
        &format!(" AND ts >= {from_ms} AND ts <= {dns_last}"),
    )
    .await?;
    let body = json!({"datasets": ["dns_metadata"], "filters": {"from": text(from_ms), "to": text(dns_last)}});
    let before = reset_peak_rss();
    let t = Instant::now();
    let mut res = client
        .post(format!("{base}/api/v1/data/export"))
        .bearer_auth(key.as_str())
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "export failed: {}", res.status());
    let mut bytes = 0usize;
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "\nexport of {rows} DNS rows: {:.1} MB ZIP in {secs:.2} s: {:.0} rows/s, {:.1} MB/s; \
         process RSS {before:.1} MB before, peak {:.1} MB during the export",
        bytes as f64 / 1e6,
        rows as f64 / secs,
        bytes as f64 / 1e6 / secs,
        peak_rss_mb()
    );

    // Delete: about 2 % of the TCP rows (100,000 at scale 1), port 443 in a recent window.
    let (tcp_first, tcp_last, tcp_rows) = span(server, "tcp_records", tenant.id.0, "").await?;
    let (_, _, on_443) = span(server, "tcp_records", tenant.id.0, " AND dst_port = 443").await?;
    let share = (tcp_rows as f64 * 0.02) / (on_443.max(1) as f64);
    let window = ((tcp_last - tcp_first) as f64 * share.min(1.0)) as i64;
    let body = json!({"table": "tcp_metadata", "filters": {"from": text(tcp_last - window), "to": text(tcp_last),
        "tcp_metadata": {"destination_port": 443}}});
    let t = Instant::now();
    let res = client
        .post(format!("{base}/api/v1/data/delete"))
        .bearer_auth(key.as_str())
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let result: Value = res.json().await?;
    anyhow::ensure!(status == 200, "delete failed: {result}");
    println!(
        "filtered delete of {} TCP rows with the aggregate rebuild: {:.2} s",
        result["deleted_rows"],
        t.elapsed().as_secs_f64()
    );
    println!(
        "\npeak RSS of the process since the export (server and clients): {:.1} MB",
        peak_rss_mb()
    );
    Ok(())
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<u16> {
    let mut req = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await?;
    Ok(res.status().as_u16())
}
