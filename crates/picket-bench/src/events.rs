//! The events pipeline: tenants and assets, a corpus import, the engine to completion, and
//! threat-list, map and keyword reads.

use std::sync::Arc;
use std::time::Instant;

use picket_core::identity::store as identity;
use picket_corpus::{import, store_records, Scope};
use serde_json::json;

use crate::load::{drive, HEADER};
use crate::{peak_private_mb, peak_rss_mb, Server};

/// Sizes of one run.
pub struct Sizes {
    pub tenants: usize,
    pub assets: usize,
    pub events: usize,
    /// Only the corpus import.
    pub import_only: bool,
}

/// Africa and Europe (35°S–60°N, 20°W–50°E): assets and events share the area, so an event
/// meets an asset now and then, as in a real portfolio, rather than every time.
fn point(rng: &mut fastrand::Rng) -> (f64, f64) {
    (-35.0 + rng.f64() * 95.0, -20.0 + rng.f64() * 70.0)
}

/// The path of request number `i` of a scenario.
type PathOfRequest = fn(usize) -> String;

const CATEGORIES: &[&str] = &[
    "armed_conflict",
    "crime_violence",
    "civil_unrest",
    "terrorism",
    "transport",
    "infrastructure",
    "fire_hazard",
    "weather",
    "health",
];
const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "negligible"];

/// A GDELT 2.0 export (61 tab-separated columns) of security events: protests, assaults and
/// fighting in the benchmark's area, as GDELT codes them.
fn gdelt_export(rng: &mut fastrand::Rng, rows: usize) -> String {
    const CODES: &[(&str, &str, &str)] = &[
        ("141", "14", "-6.5"),
        ("145", "14", "-7.5"),
        ("180", "18", "-9.0"),
        ("190", "19", "-10.0"),
        ("193", "19", "-10.0"),
    ];
    let now = chrono::Utc::now();
    let (date, added) = (
        now.format("%Y%m%d").to_string(),
        now.format("%Y%m%d%H%M%S").to_string(),
    );
    let mut out = String::with_capacity(rows * 400);
    for i in 0..rows {
        let (lat, lng) = point(rng);
        let (code, root, goldstein) = CODES[rng.usize(..CODES.len())];
        let mut f = vec![String::new(); 61];
        f[0] = (1_300_000_000 + i).to_string();
        f[1] = date.clone();
        f[6] = "PROTESTER".into();
        f[16] = "POLICE".into();
        f[25] = "1".into();
        f[26] = code.into();
        f[27] = code.into();
        f[28] = root.into();
        f[29] = "4".into();
        f[30] = goldstein.into();
        f[31] = rng.u32(1..300).to_string();
        f[32] = "2".into();
        f[33] = rng.u32(1..100).to_string();
        f[34] = "-4.2".into();
        f[51] = "4".into();
        f[52] = format!("Place {i}");
        f[53] = "NI".into();
        f[56] = format!("{lat:.4}");
        f[57] = format!("{lng:.4}");
        f[59] = added.clone();
        f[60] = format!("https://news.example.org/{i}");
        out.push_str(&f.join("\t"));
        out.push('\n');
    }
    out
}

pub async fn run(
    server: &Server,
    sizes: &Sizes,
    clients: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let db = &server.state.db;
    let client = reqwest::Client::new();
    let mut rng = fastrand::Rng::with_seed(7);

    // Tenants, each with a key and its share of the assets.
    let t = Instant::now();
    let mut keys = Vec::new();
    let per_tenant = sizes.assets / sizes.tenants.max(1);
    let tenants = if sizes.import_only { 0 } else { sizes.tenants };
    for n in 0..tenants {
        let tenant = identity::create_tenant(db, &format!("bench-{n:03}")).await?;
        let user = identity::create_user(db, tenant.id, "bench", true, &[]).await?;
        let (_, key) = identity::create_api_key(db, &user, None).await?;
        for chunk in (0..per_tenant).collect::<Vec<_>>().chunks(500) {
            let assets: Vec<_> = chunk
                .iter()
                .map(|i| {
                    let (lat, lng) = point(&mut rng);
                    json!({"asset_id": format!("a{i:05}"), "type": if i % 4 == 0 { "residence" } else { "facility" }, "name": format!("Site {n}-{i}"),
                           "attributes": {"lat": lat, "lng": lng, "monitoring_radius_km": 5 + i % 20}})
                })
                .collect();
            let res = client
                .put(format!("{}/v1/assets", server.base))
                .bearer_auth(&key)
                .json(&json!({ "assets": assets }))
                .send()
                .await?;
            anyhow::ensure!(
                res.status() == 200,
                "asset upsert failed: {}",
                res.text().await?
            );
        }
        keys.push(key);
    }
    println!(
        "\n{} assets over {} tenants in {:.1} s",
        per_tenant * tenants,
        tenants,
        t.elapsed().as_secs_f64()
    );

    // The corpus: GeoJSON in Picket's event shape, then a GDELT 2.0 export of a tenth as many
    // rows, each parsed and stored as `picket import events` does.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    // Generating each file is timed apart: `picket import events` reads one from disk.
    let (mut parse_secs, mut store_secs, mut gen_secs) = (0.0, 0.0, 0.0);
    let mut stored = 0;
    let mut bytes = 0;
    const CHUNK: usize = 50_000;
    for start in (0..sizes.events).step_by(CHUNK) {
        let t = Instant::now();
        let features: Vec<_> = (start..(start + CHUNK).min(sizes.events))
            .map(|i| {
                let (lat, lng) = point(&mut rng);
                let category = CATEGORIES[rng.usize(..CATEGORIES.len())];
                json!({"type": "Feature", "id": format!("bench-{i}"),
                    "geometry": {"type": "Point", "coordinates": [lng, lat]},
                    "properties": {"title": format!("Synthetic {category} report {i}"), "event_category": category,
                        "severity": SEVERITIES[rng.usize(..SEVERITIES.len())], "event_date": today,
                        "location_country": "NG", "source": "acled"}})
            })
            .collect();
        let doc = json!({"type": "FeatureCollection", "features": features}).to_string();
        bytes += doc.len();
        gen_secs += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let records = import::parse(
            import::Format::parse("geojson").expect("geojson format"),
            doc.as_bytes(),
        )
        .map_err(anyhow::Error::msg)?;
        parse_secs += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let report = store_records(db, Scope::Global, records).await?;
        store_secs += t.elapsed().as_secs_f64();
        stored += report.new + report.updated + report.merged;
    }
    let import_secs = parse_secs + store_secs;
    println!("import (GeoJSON, parse + store): {stored} events, {:.1} MB in {import_secs:.1} s: {:.0} events/s", bytes as f64 / 1e6, stored as f64 / import_secs);
    println!("  parsing {parse_secs:.1} s, storing {store_secs:.1} s; generating the files took another {gen_secs:.1} s");

    let rows = (sizes.events / 10).max(1000);
    let t = Instant::now();
    let export = gdelt_export(&mut rng, rows);
    gen_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let records = import::parse(
        import::Format::parse("gdelt").expect("gdelt format"),
        export.as_bytes(),
    )
    .map_err(anyhow::Error::msg)?;
    parse_secs = t.elapsed().as_secs_f64();
    let report = store_records(db, Scope::Global, records).await?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.rejected.is_empty(),
        "GDELT rows refused: {:?}",
        &report.rejected[..report.rejected.len().min(3)]
    );
    let gdelt = report.new + report.updated + report.merged;
    println!(
        "import (GDELT 2.0 export, parse + store): {gdelt} events, {:.1} MB in {secs:.1} s: {:.0} events/s",
        export.len() as f64 / 1e6,
        gdelt as f64 / secs
    );
    println!(
        "  parsing {parse_secs:.1} s, storing {:.1} s; generating the file took another {gen_secs:.1} s",
        secs - parse_secs
    );
    if sizes.import_only {
        return Ok(());
    }

    // The engine to completion.
    let t = Instant::now();
    let pass = picket_watch::evaluation::evaluate_changed(&server.state).await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "engine: {} events evaluated in {secs:.1} s: {:.0} events/s; {} threats created",
        pass.examined,
        pass.examined as f64 / secs,
        pass.created
    );

    // Planner statistics, as the server's hourly `db.statistics` job keeps them.
    picket_core::db::stats::refresh_planner_statistics(db).await?;

    // Threat lists, as each tenant's dashboard would ask.
    println!("\n{HEADER}");
    let base = Arc::new(server.base.clone());
    let keys = Arc::new(keys);
    for (name, query) in [
        ("GET /v1/threats (first page, 100)", ""),
        (
            "GET /v1/threats?severity=critical&severity=high&status=active",
            "?severity=critical&severity=high&status=active",
        ),
        (
            "GET /v1/threats?sort=risk_score&limit=20",
            "?sort=risk_score&limit=20",
        ),
        ("GET /v1/threats?asset_id=a00001", "?asset_id=a00001"),
        (
            "GET /v1/threats?sort=severity&limit=20",
            "?sort=severity&limit=20",
        ),
    ] {
        let client = client.clone();
        let base = base.clone();
        let keys = keys.clone();
        let s = drive(name, clients, requests, move |i| {
            let req = client
                .get(format!("{base}/v1/threats{query}"))
                .bearer_auth(&keys[i % keys.len()]);
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
    // The map endpoints over the same corpus: a click anywhere in the area, and the heatmap
    // of a 10° square (about 1/66 of the area) and of one category.
    let map: [(&str, PathOfRequest); 3] = [
        (
            "GET /v1/events/at-point (a point anywhere in the area)",
            |i| {
                let mut rng = fastrand::Rng::with_seed(i as u64);
                let (lat, lng) = point(&mut rng);
                format!("/v1/events/at-point?lat={lat:.4}&lng={lng:.4}")
            },
        ),
        ("GET /v1/events/heatmap-points?bbox= (10° square)", |_| {
            "/v1/events/heatmap-points?bbox=0,0,10,10".into()
        }),
        (
            "GET /v1/events/heatmap-points?event_category=terrorism&date_from=",
            |_| {
                format!(
                    "/v1/events/heatmap-points?event_category=terrorism&date_from={}",
                    chrono::Utc::now().date_naive() - chrono::Days::new(7)
                )
            },
        ),
    ];
    // The events list's `keyword` (title or description contains it): a selective one (one
    // report's number, a handful of events) and a common one (a category's name, about a ninth
    // of the events).
    let keyword: [(&str, PathOfRequest); 2] = [
        ("GET /v1/events?keyword= (selective: `report 12345`)", |i| {
            format!(
                "/v1/events?keyword=report%20{}",
                10_000 + (i * 7_919) % 90_000
            )
        }),
        ("GET /v1/events?keyword=terrorism (common)", |_| {
            "/v1/events?keyword=terrorism".into()
        }),
    ];
    for (name, path) in map.into_iter().chain(keyword) {
        let client = client.clone();
        let base = base.clone();
        let keys = keys.clone();
        let s = drive(name, clients, requests, move |i| {
            let req = client
                .get(format!("{base}{}", path(i)))
                .bearer_auth(&keys[i % keys.len()]);
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
    println!(
        "\npeak RSS of the process (server, engine and clients): {:.1} MB; peak private memory {:.1} MB",
        peak_rss_mb(),
        peak_private_mb()
    );
    Ok(())
}
