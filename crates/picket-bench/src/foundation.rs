//! The foundation: authentication and the asset endpoints' reads and writes, plus `about`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::load::{drive, HEADER};
use crate::{peak_private_mb, peak_rss_mb, Server};

const ASSETS: usize = 10_000;
const BATCH: usize = 500;

fn asset(i: usize) -> serde_json::Value {
    // Spread over West Africa, deterministic.
    let lat = 4.0 + (i % 97) as f64 * 0.1;
    let lng = -3.0 + (i % 89) as f64 * 0.15;
    json!({
        "asset_id": format!("site-{i:05}"),
        "type": if i % 3 == 0 { "residence" } else { "facility" },
        "name": format!("Site {i}"),
        "attributes": {"lat": lat, "lng": lng, "country": "NG", "monitoring_radius_km": 10 + (i % 40)},
        "physical_threat_config": {"radius_km_by_category": {"civil_unrest": 12}}
    })
}

pub async fn run(server: &Server, clients: usize, requests: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = Arc::new(server.base.clone());
    let key = Arc::new(server.key.clone());

    // Bulk upsert throughput.
    let t = Instant::now();
    for chunk in (0..ASSETS).collect::<Vec<_>>().chunks(BATCH) {
        let body = json!({"assets": chunk.iter().map(|&i| asset(i)).collect::<Vec<_>>()});
        let res = client
            .put(format!("{base}/v1/assets"))
            .bearer_auth(key.as_str())
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(res.status() == 200, "upsert failed: {}", res.text().await?);
    }
    let upsert = t.elapsed();
    println!(
        "\nPUT /v1/assets: {ASSETS} assets in batches of {BATCH}: {:.0} assets/s",
        ASSETS as f64 / upsert.as_secs_f64()
    );

    println!("\n{HEADER}");
    let get = |path_of: fn(usize) -> String, ok: u16| {
        let client = client.clone();
        let base = base.clone();
        let key = key.clone();
        move |i: usize| {
            let req = client
                .get(format!("{base}{}", path_of(i)))
                .bearer_auth(key.as_str());
            async move {
                match req.send().await {
                    // Read the whole body, as a real client would.
                    Ok(r) => r.status().as_u16() == ok && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        }
    };
    let s = drive(
        "GET /healthz (no auth, baseline)",
        clients,
        requests,
        get(|_| "/healthz".into(), 200),
    )
    .await;
    println!("{}", s.row());
    let s = drive(
        "GET /v1/assets/{asset_id} (auth + indexed read)",
        clients,
        requests,
        get(
            |i| format!("/v1/assets/site-{:05}", (i * 7919) % ASSETS),
            200,
        ),
    )
    .await;
    println!("{}", s.row());
    let s = drive(
        "GET /v1/assets/{unknown} (auth + 404)",
        clients,
        requests,
        get(|i| format!("/v1/assets/none-{i}"), 404),
    )
    .await;
    println!("{}", s.row());
    let s = drive(
        "GET /v1/assets?type=residence (3,334 assets)",
        clients,
        requests / 20,
        get(|_| "/v1/assets?type=residence".into(), 200),
    )
    .await;
    println!("{}", s.row());
    let s = drive(
        "GET /api/v1/about",
        clients,
        requests,
        get(|_| "/api/v1/about".into(), 200),
    )
    .await;
    println!("{}", s.row());
    let patch = {
        let client = client.clone();
        let base = base.clone();
        let key = key.clone();
        move |i: usize| {
            let req = client
                .patch(format!(
                    "{base}/v1/assets/site-{:05}",
                    (i * 104_729) % ASSETS
                ))
                .bearer_auth(key.as_str())
                .json(&json!({"attributes": {"monitoring_radius_km": 5 + i % 50}}));
            async move {
                match req.send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        }
    };
    let s = drive(
        "PATCH /v1/assets/{asset_id} (write)",
        clients,
        requests / 5,
        patch,
    )
    .await;
    println!("{}", s.row());
    println!(
        "\npeak RSS of the process (server and clients): {:.1} MB; peak private memory {:.1} MB",
        peak_rss_mb(),
        peak_private_mb()
    );
    Ok(())
}
