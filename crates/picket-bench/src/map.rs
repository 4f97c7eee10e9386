//! The map layer at a million events: vector tiles over zooms 2–14, at-point, heatmaps,
//! country summaries and GeoJSON; and, side by side in the same run, Martin serving the same
//! points from PostGIS for the same tiles, when `martin` is installed.
//!
//! The events follow the shape of real corpora: dense clusters around forty cities, a thinner
//! spread over the continents, and empty oceans.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use picket_corpus::map::mercator::quantise;
use picket_corpus::{import, store_records, Scope};
use serde_json::json;

use crate::load::{drive, Stats, HEADER};
use crate::{peak_private_mb, peak_rss_mb, Server};

/// Cities the clusters centre on, `(lng, lat)`, rounded: where news and hazards concentrate.
const CITIES: &[(f64, f64)] = &[
    (3.39, 6.45),     // Lagos
    (7.49, 9.06),     // Abuja
    (36.82, -1.29),   // Nairobi
    (31.24, 30.04),   // Cairo
    (28.05, -26.20),  // Johannesburg
    (-17.45, 14.69),  // Dakar
    (45.32, 2.05),    // Mogadishu
    (32.53, 15.50),   // Khartoum
    (15.28, -4.32),   // Kinshasa
    (38.75, 9.03),    // Addis Ababa
    (-0.13, 51.51),   // London
    (2.35, 48.86),    // Paris
    (13.40, 52.52),   // Berlin
    (30.52, 50.45),   // Kyiv
    (37.62, 55.76),   // Moscow
    (28.98, 41.01),   // Istanbul
    (44.37, 33.31),   // Baghdad
    (36.29, 33.51),   // Damascus
    (51.39, 35.69),   // Tehran
    (69.21, 34.56),   // Kabul
    (67.01, 24.86),   // Karachi
    (77.21, 28.61),   // Delhi
    (72.88, 19.08),   // Mumbai
    (90.41, 23.81),   // Dhaka
    (100.50, 13.76),  // Bangkok
    (106.85, -6.21),  // Jakarta
    (120.98, 14.60),  // Manila
    (116.41, 39.90),  // Beijing
    (139.69, 35.69),  // Tokyo
    (151.21, -33.87), // Sydney
    (-74.01, 40.71),  // New York
    (-118.24, 34.05), // Los Angeles
    (-87.63, 41.88),  // Chicago
    (-99.13, 19.43),  // Mexico City
    (-74.07, 4.71),   // Bogotá
    (-77.04, -12.05), // Lima
    (-46.63, -23.55), // São Paulo
    (-58.38, -34.60), // Buenos Aires
    (-66.90, 10.48),  // Caracas
    (-72.34, 18.54),  // Port-au-Prince
];

/// Continental boxes `(min_lng, min_lat, max_lng, max_lat)` of the thinner spread.
const LAND: &[(f64, f64, f64, f64)] = &[
    (-10.0, 5.0, 40.0, 35.0),     // Sahel and North Africa
    (12.0, -30.0, 40.0, 5.0),     // Central and Southern Africa
    (-10.0, 36.0, 40.0, 60.0),    // Europe
    (35.0, 10.0, 90.0, 45.0),     // Middle East and South Asia
    (95.0, -8.0, 140.0, 40.0),    // East and South-East Asia
    (-120.0, 25.0, -70.0, 50.0),  // North America
    (-80.0, -35.0, -40.0, 10.0),  // South America
    (115.0, -38.0, 150.0, -15.0), // Australia
];

const CATEGORIES: &[&str] = &[
    "armed_conflict",
    "crime_violence",
    "civil_unrest",
    "terrorism",
    "transport",
    "infrastructure",
    "fire_hazard",
    "weather",
    "geological",
    "health",
];
const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "negligible"];

/// One generated event.
struct Ev {
    id: String,
    title: String,
    category: &'static str,
    severity: &'static str,
    date: String,
    lng: f64,
    lat: f64,
}

fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let (u, v) = (rng.f64().max(1e-12), rng.f64());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Event number `i` of the run: the same for Picket and for PostGIS.
fn event(i: usize, today: chrono::NaiveDate) -> Ev {
    let mut rng = fastrand::Rng::with_seed(i as u64 ^ 0x5eed);
    let (lng, lat) = if rng.f64() < 0.7 {
        let (lng, lat) = CITIES[rng.usize(..CITIES.len())];
        // Most reports within tens of kilometres of the city, some across its region.
        let spread = if rng.bool() { 0.3 } else { 2.0 };
        (
            (lng + gaussian(&mut rng) * spread).clamp(-179.999, 179.999),
            (lat + gaussian(&mut rng) * spread).clamp(-84.0, 84.0),
        )
    } else {
        let (w, s, e, n) = LAND[rng.usize(..LAND.len())];
        (w + rng.f64() * (e - w), s + rng.f64() * (n - s))
    };
    let category = CATEGORIES[rng.usize(..CATEGORIES.len())];
    Ev {
        id: format!("map-{i}"),
        title: format!("Synthetic {category} report {i}"),
        category,
        severity: SEVERITIES[rng.usize(..SEVERITIES.len())],
        date: (today - chrono::Days::new(rng.u64(0..90))).to_string(),
        lng,
        lat,
    }
}

/// The tile of a point at a zoom.
fn tile_of(z: u32, lng: f64, lat: f64) -> (u32, u32, u32) {
    let (x, y) = quantise(lng, lat);
    if z == 0 {
        return (0, 0, 0);
    }
    (z, x >> (32 - z), y >> (32 - z))
}

/// The fixed tile sample: zooms 2–14 evenly, each tile where a map user would look (around a
/// random event), one in ten anywhere (mostly ocean).
fn tiles(n: usize, events: usize, seed: u64, today: chrono::NaiveDate) -> Vec<(u32, u32, u32)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| {
            let z = 2 + (i % 13) as u32;
            if rng.usize(..10) == 0 {
                tile_of(z, rng.f64() * 360.0 - 180.0, rng.f64() * 170.0 - 85.0)
            } else {
                let e = event(rng.usize(..events), today);
                tile_of(z, e.lng, e.lat)
            }
        })
        .collect()
}

/// The path of request number `i` of an endpoint.
type PathOf = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// Tile requests: stats, bytes received and empty tiles.
async fn drive_tiles(
    name: &str,
    clients: usize,
    sample: Arc<Vec<(u32, u32, u32)>>,
    url: impl Fn(u32, u32, u32) -> String + Send + Sync + 'static,
    key: Option<String>,
) -> (Stats, u64, usize) {
    let client = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let empty = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (b, e) = (bytes.clone(), empty.clone());
    let n = sample.len();
    let stats = drive(name, clients, n, move |i| {
        let (z, x, y) = sample[i];
        let mut req = client.get(url(z, x, y));
        if let Some(k) = &key {
            req = req.bearer_auth(k);
        }
        let (b, e) = (b.clone(), e.clone());
        async move {
            match req.send().await {
                Ok(r) if r.status() == 204 => {
                    e.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    true
                }
                Ok(r) if r.status() == 200 => match r.bytes().await {
                    Ok(body) => {
                        b.fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        true
                    }
                    Err(_) => false,
                },
                _ => false,
            }
        }
    })
    .await;
    (
        stats,
        bytes.load(std::sync::atomic::Ordering::Relaxed),
        empty.load(std::sync::atomic::Ordering::Relaxed),
    )
}

pub struct Options {
    pub events: usize,
    pub tiles: usize,
    /// The PostgreSQL with PostGIS where Martin reads its copy of the points.
    pub martin_database_url: String,
}

/// The corpus of `events` generated events, imported as `picket import events` would (GeoJSON
/// in Picket's event shape); prints how long it took. Also the console scenario's data.
pub async fn import_corpus(server: &Server, events: usize) -> anyhow::Result<()> {
    let db = &server.state.db;
    let today = chrono::Utc::now().date_naive();
    let t = Instant::now();
    const CHUNK: usize = 50_000;
    let mut stored = 0;
    for start in (0..events).step_by(CHUNK) {
        let features: Vec<_> = (start..(start + CHUNK).min(events))
            .map(|i| {
                let e = event(i, today);
                json!({"type": "Feature", "id": e.id,
                    "geometry": {"type": "Point", "coordinates": [e.lng, e.lat]},
                    "properties": {"title": e.title, "event_category": e.category,
                        "severity": e.severity, "event_date": e.date, "source": "acled"}})
            })
            .collect();
        let doc = json!({"type": "FeatureCollection", "features": features}).to_string();
        let records = import::parse(
            import::Format::parse("geojson").expect("geojson"),
            doc.as_bytes(),
        )
        .map_err(anyhow::Error::msg)?;
        let report = store_records(db, Scope::Global, records).await?;
        stored += report.new + report.updated + report.merged;
    }
    println!(
        "\nimported {stored} events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    picket_core::db::stats::refresh_planner_statistics(db).await?;
    Ok(())
}

pub async fn run(
    server: &Server,
    o: &Options,
    clients: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let db = &server.state.db;
    let today = chrono::Utc::now().date_naive();

    import_corpus(server, o.events).await?;

    let sample = Arc::new(tiles(o.tiles, o.events, 11, today));
    let warm = Arc::new(tiles(100, o.events, 12, today));
    let client = reqwest::Client::new();

    // The index loads on first use; timed apart.
    let t = Instant::now();
    let res = client
        .get(format!("{}/v1/events/tiles/0/0/0.mvt", server.base))
        .bearer_auth(&server.key)
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "world tile: {}", res.status());
    println!(
        "map index loaded by the first tile: {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let base = Arc::new(server.base.clone());
    let url = {
        let base = base.clone();
        move |z: u32, x: u32, y: u32| format!("{base}/v1/events/tiles/{z}/{x}/{y}.mvt")
    };
    drive_tiles(
        "warm-up",
        clients,
        warm.clone(),
        url.clone(),
        Some(server.key.clone()),
    )
    .await;
    let name = format!(
        "Picket tiles ({} zooms 2–14, {} backend)",
        o.tiles,
        db.backend().name()
    );
    let (picket, bytes, empty) = drive_tiles(
        &name,
        clients,
        sample.clone(),
        url,
        Some(server.key.clone()),
    )
    .await;
    println!("\n{HEADER}");
    println!("{}", picket.row());
    println!(
        "  {} tiles with events, {empty} empty (204); {:.1} KB per tile on average",
        picket.requests - empty,
        bytes as f64 / 1024.0 / (picket.requests - empty).max(1) as f64
    );

    // The other map endpoints.
    let week_ago = today - chrono::Days::new(7);
    let n_events = o.events.max(1);
    let endpoints: Vec<(String, usize, PathOf)> = vec![
        (
            "GET /v1/events/at-point (around a random event)".into(),
            requests,
            Arc::new(move |i| {
                let e = event(i * 7919 % n_events, today);
                format!("/v1/events/at-point?lat={:.5}&lng={:.5}", e.lat, e.lng)
            }),
        ),
        (
            "GET /v1/events/countries".into(),
            requests / 10,
            Arc::new(|_| "/v1/events/countries".into()),
        ),
        (
            "GET /v1/events/countries?event_category=terrorism&date_from=".into(),
            requests / 10,
            Arc::new(move |_| {
                format!("/v1/events/countries?event_category=terrorism&date_from={week_ago}")
            }),
        ),
        (
            "GET /v1/events/heatmap-points (100,000 of all)".into(),
            requests / 50,
            Arc::new(|_| "/v1/events/heatmap-points".into()),
        ),
        (
            "GET /v1/events/heatmap-points?event_category=terrorism".into(),
            requests / 50,
            Arc::new(|_| "/v1/events/heatmap-points?event_category=terrorism".into()),
        ),
        (
            "GET /v1/events/geojson (10,000 of all)".into(),
            requests / 50,
            Arc::new(|_| "/v1/events/geojson".into()),
        ),
        (
            "GET /v1/events/geojson?bbox= (Lagos, 1°)".into(),
            requests / 10,
            Arc::new(|_| "/v1/events/geojson?bbox=2.9,6.0,3.9,7.0".into()),
        ),
    ];
    for (name, n, path) in endpoints {
        let client = client.clone();
        let base = base.clone();
        let key = server.key.clone();
        let s = drive(&name, clients, n.max(20), move |i| {
            let req = client.get(format!("{base}{}", path(i))).bearer_auth(&key);
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
        "\npeak RSS of the process (server, index and clients): {:.1} MB; peak private memory {:.1} MB",
        peak_rss_mb(),
        peak_private_mb()
    );

    // Martin on PostGIS, same points, same tiles, same clients.
    match martin(o, today, clients, sample, warm).await {
        Ok(Some((m, m_bytes, m_empty))) => {
            println!("\n{HEADER}");
            println!("{}", picket.row());
            println!("{}", m.row());
            println!(
                "  Martin: {} tiles with points, {m_empty} empty; {:.1} KB per tile on average (every point, no clustering)",
                m.requests - m_empty,
                m_bytes as f64 / 1024.0 / (m.requests - m_empty).max(1) as f64
            );
            println!(
                "\nPicket / Martin: {:.2}× the tiles per second; p99 {:.1} ms vs {:.1} ms",
                picket.rps() / m.rps(),
                picket.p99.as_secs_f64() * 1000.0,
                m.p99.as_secs_f64() * 1000.0
            );
        }
        Ok(None) => {}
        Err(e) => println!("\nMartin comparison skipped: {e:#}"),
    }
    Ok(())
}

/// A Martin server on a PostGIS copy of the points; dropped, it stops.
struct Martin(Child);

impl Drop for Martin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn martin(
    o: &Options,
    today: chrono::NaiveDate,
    clients: usize,
    sample: Arc<Vec<(u32, u32, u32)>>,
    warm: Arc<Vec<(u32, u32, u32)>>,
) -> anyhow::Result<Option<(Stats, u64, usize)>> {
    if Command::new("martin").arg("--version").output().is_err() {
        println!(
            "\nMartin is not installed; for the side-by-side figures run:\n  \
             apt-get install postgresql-15-postgis-3\n  \
             cargo install martin@1.14.0 --locked --no-default-features --features postgres"
        );
        return Ok(None);
    }
    let url = &o.martin_database_url;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        .execute(&mut conn)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "PostGIS is not available ({e}); apt-get install postgresql-15-postgis-3"
            )
        })?;
    let schema = format!("picket_martin_{}", uuid::Uuid::now_v7().simple());
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.events (id text PRIMARY KEY, title text, \
         event_category text, severity text, event_date text, geom public.geometry(Point, 4326))"
    ))
    .execute(&mut conn)
    .await?;
    let result = async {
        let t = Instant::now();
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY {schema}.events (id, title, event_category, severity, event_date, geom) FROM STDIN"
            ))
            .await?;
        let mut buf = String::new();
        for i in 0..o.events {
            let e = event(i, today);
            buf.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\tSRID=4326;POINT({} {})\n",
                e.id, e.title, e.category, e.severity, e.date, e.lng, e.lat
            ));
            if buf.len() > 1 << 20 {
                copy.send(std::mem::take(&mut buf).into_bytes()).await?;
            }
        }
        copy.send(buf.into_bytes()).await?;
        copy.finish().await?;
        sqlx::raw_sql(&format!(
            "CREATE INDEX ON {schema}.events USING gist (geom); ANALYZE {schema}.events"
        ))
        .execute(&mut conn)
        .await?;
        println!("\nPostGIS copy for Martin: {} points loaded and indexed in {:.1} s", o.events, t.elapsed().as_secs_f64());

        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("martin.yaml");
        std::fs::write(
            &config,
            format!(
                "listen_addresses: '127.0.0.1:{port}'\npostgres:\n  connection_string: '{url}'\n  \
                 auto_publish: false\n  tables:\n    events:\n      schema: {schema}\n      table: events\n      \
                 srid: 4326\n      geometry_column: geom\n      geometry_type: POINT\n      properties:\n        \
                 id: text\n        title: text\n        event_category: text\n        severity: text\n        event_date: text\n"
            ),
        )?;
        let child = Command::new("martin")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let _martin = Martin(child);
        let base = format!("http://127.0.0.1:{port}");
        let ready = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/catalog")).await {
                if r.status().is_success() {
                    break;
                }
            }
            anyhow::ensure!(ready.elapsed() < Duration::from_secs(60), "Martin did not start within 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let url = move |z: u32, x: u32, y: u32| format!("{base}/events/{z}/{x}/{y}");
        drive_tiles("Martin warm-up", clients, warm, url.clone(), None).await;
        let name = format!("Martin {} tiles (PostGIS, same sample)", sample.len());
        Ok::<_, anyhow::Error>(drive_tiles(&name, clients, sample, url, None).await)
    }
    .await;
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await?;
    result.map(Some)
}
