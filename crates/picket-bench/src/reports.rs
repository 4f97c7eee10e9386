//! `reports`: a landscape report over a tenant with `--report-assets` assets (default 10,000)
//! and `--threats` threats (default 100,000) observed over the last seven days. Assets go in
//! through `PUT /v1/assets`; threats, with one to three affected assets each, are written
//! straight through the threat store (the engine's own writer path, without matching events:
//! the engine has its own benchmark). Then the report is asked for over HTTP and timed to
//! `ready` (its JSON content), and its HTML and PDF forms are fetched and timed; the PDF's page
//! count comes from `pdfinfo` when poppler-utils is installed.

use std::time::{Duration, Instant};

use picket_core::db::json::JsonText;
use picket_core::identity::store as identity;
use picket_core::time::now_ms;
use picket_watch::threats::store::{self as threats, ThreatAssetRow, ThreatRow};
use serde_json::{json, Value};

use crate::Server;

/// Threats written per transaction.
const CHUNK: usize = 5_000;

pub struct Options {
    pub assets: usize,
    pub threats: usize,
    pub save_pdf: Option<std::path::PathBuf>,
}

const CATEGORIES: [(&str, &str); 8] = [
    ("civil_unrest", "protest"),
    ("crime_violence", "armed_robbery"),
    ("armed_conflict", "clash"),
    ("terrorism", "attack"),
    ("transport", "road_closure"),
    ("weather", "storm"),
    ("fire_hazard", "wildfire"),
    ("infrastructure", "power_outage"),
];

/// Asset `i`: spread over West and East Africa and Europe, like the events benchmark.
fn asset_position(i: usize) -> (f64, f64) {
    let region = i % 3;
    let f = (i / 3) as f64;
    let (lat0, lng0) = match region {
        0 => (6.0, 3.0),
        1 => (-1.3, 36.8),
        _ => (48.8, 2.3),
    };
    (
        lat0 + (f * 0.6180339).fract() * 6.0 - 3.0,
        lng0 + (f * 0.4142135).fract() * 8.0 - 4.0,
    )
}

fn band(score: f64) -> &'static str {
    match score {
        s if s >= 80.0 => "critical",
        s if s >= 60.0 => "high",
        s if s >= 40.0 => "medium",
        s if s >= 20.0 => "low",
        _ => "negligible",
    }
}

async fn seed(
    server: &Server,
    o: &Options,
) -> anyhow::Result<Vec<(String, String, String, f64, f64)>> {
    let client = reqwest::Client::new();
    let mut assets = Vec::with_capacity(o.assets);
    for start in (0..o.assets).step_by(500) {
        let batch: Vec<Value> = (start..(start + 500).min(o.assets))
            .map(|i| {
                let (lat, lng) = asset_position(i);
                json!({"asset_id": format!("a{i:05}"), "type": if i % 3 == 0 { "residence" } else { "facility" },
                    "name": format!("Site {i:05}"), "attributes": {"lat": lat, "lng": lng,
                    "monitoring_radius_km": 25}})
            })
            .collect();
        let res = client
            .put(format!("{}/v1/assets", server.base))
            .bearer_auth(&server.key)
            .json(&json!({ "assets": batch }))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 200, "asset upsert: {}", res.status());
        let body: Value = res.json().await?;
        for a in body["assets"].as_array().into_iter().flatten() {
            assets.push((
                a["id"].as_str().unwrap_or_default().to_string(),
                a["asset_id"].as_str().unwrap_or_default().to_string(),
                a["name"].as_str().unwrap_or_default().to_string(),
                a["attributes"]["lat"].as_f64().unwrap_or_default(),
                a["attributes"]["lng"].as_f64().unwrap_or_default(),
            ));
        }
    }
    anyhow::ensure!(assets.len() == o.assets, "{} assets stored", assets.len());
    Ok(assets)
}

async fn write_threats(
    server: &Server,
    o: &Options,
    assets: &[(String, String, String, f64, f64)],
) -> anyhow::Result<()> {
    let tenant = identity::tenant_by_name(&server.state.db, "default")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no default tenant"))?
        .id;
    let now = now_ms();
    let week = 7 * 86_400_000;
    let mut rng = fastrand::Rng::with_seed(14);
    for start in (0..o.threats).step_by(CHUNK) {
        let mut rows = Vec::with_capacity(CHUNK);
        let mut affected = Vec::with_capacity(CHUNK * 2);
        for i in start..(start + CHUNK).min(o.threats) {
            let id = uuid::Uuid::now_v7().to_string();
            let (category, kind) = CATEGORIES[rng.usize(..CATEGORIES.len())];
            let first = rng.usize(..assets.len());
            let (_, _, _, lat, lng) = &assets[first];
            let (lat, lng) = (lat + rng.f64() * 0.1 - 0.05, lng + rng.f64() * 0.1 - 0.05);
            let score = (rng.f64().powf(1.6) * 100.0 * 10.0).round() / 10.0;
            let severity = band(score);
            let observed = now - (rng.f64() * week as f64) as i64;
            for k in 0..rng.usize(1..=3) {
                let (uuid, asset_id, name, _, _) = &assets[(first + k * 7) % assets.len()];
                affected.push((
                    tenant.0,
                    ThreatAssetRow {
                        threat_id: id.clone(),
                        asset_uuid: uuid.clone(),
                        asset_id: asset_id.clone(),
                        asset_name: name.clone(),
                        asset_type: "facility".into(),
                        distance_km: 1.0 + k as f64 * 3.0 + rng.f64(),
                    },
                ));
            }
            rows.push(ThreatRow {
                id,
                tenant_id: tenant.0,
                event_id: format!("bench-{i}"),
                title: format!("{} near site {first:05}", kind.replace('_', " ")),
                description: None,
                severity: severity.into(),
                severity_rank: threats::severity_rank(severity),
                status: "active".into(),
                pinned: false,
                created_at: observed,
                updated_at: observed,
                attribution_types: JsonText(vec!["bench".into()]),
                sources: JsonText(vec!["bench".into()]),
                version_count: 0,
                development_count: 0,
                last_version_at: None,
                latest_development_title: None,
                threat_rationale: "synthetic benchmark threat".into(),
                threat_type: kind.into(),
                category: category.into(),
                location: format!("Site {first:05}"),
                location_country: None,
                lat,
                lng,
                observed_at: observed,
                expires_at: observed + 3 * 86_400_000,
                likelihood: "possible".into(),
                impact_severity: "moderate".into(),
                risk_score: score,
                risk_level: severity.into(),
                likelihood_rationale: "synthetic".into(),
                impact_rationale: "synthetic".into(),
                dismissal_reason: None,
                location_precision_level: "exact".into(),
                location_uncertainty_km: None,
            });
        }
        let mut tx = server.state.db.begin().await?;
        threats::insert(&mut tx, &rows).await?;
        threats::replace_assets(&mut tx, &[], &affected).await?;
        tx.commit().await?;
    }
    Ok(())
}

pub async fn run(server: &Server, o: &Options) -> anyhow::Result<()> {
    let t = Instant::now();
    let assets = seed(server, o).await?;
    write_threats(server, o, &assets).await?;
    // The bench server runs no workers: drain what seeding queued (asset scans) first.
    picket_core::jobs::run_pending_jobs(&server.state).await?;
    println!(
        "seeded {} assets and {} threats in {:.1} s",
        o.assets,
        o.threats,
        t.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);

    let t = Instant::now();
    let res = client
        .post(url("/v1/reports"))
        .bearer_auth(&server.key)
        .json(&json!({"type": "landscape"}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "report: {}", res.status());
    let id = res.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // The generation job, run here as a worker would run it.
    picket_core::jobs::run_pending_jobs(&server.state).await?;
    let report = loop {
        let r: Value = client
            .get(url(&format!("/v1/reports/{id}")))
            .bearer_auth(&server.key)
            .send()
            .await?
            .json()
            .await?;
        if r["status"] != "pending" {
            break r;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(600),
            "report still pending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let to_ready = t.elapsed();
    anyhow::ensure!(report["status"] == "ready", "report: {report}");
    let json_bytes = report.to_string().len();

    let t = Instant::now();
    let html = client
        .get(url(&format!("/v1/reports/{id}/html")))
        .bearer_auth(&server.key)
        .send()
        .await?
        .bytes()
        .await?;
    let html_time = t.elapsed();
    let t = Instant::now();
    let pdf = client
        .get(url(&format!("/v1/reports/{id}/pdf")))
        .bearer_auth(&server.key)
        .send()
        .await?
        .bytes()
        .await?;
    let pdf_time = t.elapsed();
    anyhow::ensure!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let pages = pdf_pages(&pdf).unwrap_or_else(|| "(pdfinfo not installed)".into());
    if let Some(path) = &o.save_pdf {
        std::fs::write(path, &pdf)?;
    }

    println!(
        "\nLandscape report, {} assets, {} threats in the window ({} counted)\n",
        o.assets, o.threats, report["summary"]["threat_count"]
    );
    println!("| step | time | size |");
    println!("|---|---|---|");
    println!(
        "| `POST /v1/reports` to `ready` (JSON content built and stored) | {:.2} s | {:.0} KB JSON |",
        to_ready.as_secs_f64(),
        json_bytes as f64 / 1024.0
    );
    println!(
        "| `GET …/html` | {:.2} s | {:.0} KB |",
        html_time.as_secs_f64(),
        html.len() as f64 / 1024.0
    );
    println!(
        "| `GET …/pdf` | {:.2} s | {:.0} KB, {pages} pages |",
        pdf_time.as_secs_f64(),
        pdf.len() as f64 / 1024.0
    );
    println!(
        "| ready + PDF | {:.2} s | |",
        (to_ready + pdf_time).as_secs_f64()
    );
    println!(
        "\npeak RSS {:.0} MB, peak private memory {:.0} MB (whole process, seeding included)",
        crate::peak_rss_mb(),
        crate::peak_private_mb()
    );
    Ok(())
}

/// The page count `pdfinfo` reads, if poppler-utils is installed.
fn pdf_pages(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).ok()?;
    let out = std::process::Command::new("pdfinfo")
        .arg(&path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|p| p.trim().to_string())
}
